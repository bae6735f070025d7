//! The daemon's limit on the size of one request. Stagecraft does not
//! guess it: BuildKit 0.13 (dockerd 26) takes 4 MiB, 0.14 and later
//! (Docker 27 on) 16 MiB, and a daemon may be configured otherwise. A
//! Definition is sent as it is; when the daemon refuses it, the error says
//! how large the build was, what the daemon takes, and what to do.

use crate::gateway::GatewayError;

use super::FrontendError;

/// `error` from solving a Definition of `size` bytes, made plain when the
/// daemon refused the request for its size.
pub fn solve_error(error: GatewayError, size: usize) -> FrontendError {
    let GatewayError::Call { status, .. } = &error else {
        return error.into();
    };
    let message = status.message();
    if status.code() != tonic::Code::ResourceExhausted || !message.contains("larger than max") {
        return error.into();
    }
    let limit = match daemon_limit(message) {
        Some(limit) => format!("the {} the daemon accepts", mib(limit)),
        None => "what the daemon accepts".to_string(),
    };
    FrontendError::Options(format!(
        "the compiled build is {}, more than {limit} in one request ({message}); \
         BuildKit 0.13 (dockerd 26) takes 4 MiB, later ones 16 MiB: build fewer stages at \
         once (--target), split the spec, or move large `write:` contents into files of \
         the context",
        mib(size)
    ))
}

/// The limit in grpc-go's "received message larger than max (A vs. B)".
fn daemon_limit(message: &str) -> Option<usize> {
    let (_, rest) = message.split_once(" vs. ")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(message: &str) -> GatewayError {
        GatewayError::Call {
            call: "solve",
            status: Box::new(tonic::Status::resource_exhausted(message)),
        }
    }

    #[test]
    fn a_refusal_for_size_names_the_size_the_limit_and_a_way_out() {
        let error = solve_error(
            refused("grpc: received message larger than max (5863456 vs. 4194304)"),
            5_863_456,
        );
        let text = error.to_string();
        assert!(text.contains("the compiled build is 5.6 MiB"), "{text}");
        assert!(
            text.contains("more than the 4.0 MiB the daemon accepts"),
            "{text}"
        );
        assert!(text.contains("--target"), "{text}");
    }

    #[test]
    fn other_errors_pass_through() {
        let error = solve_error(
            GatewayError::Call {
                call: "solve",
                status: Box::new(tonic::Status::unknown("exit code: 3")),
            },
            10,
        );
        assert!(matches!(error, FrontendError::Gateway(_)));
        assert_eq!(daemon_limit("no numbers"), None);
    }
}
