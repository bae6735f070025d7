//! Why a closure cannot be computed. Every message names the file in the
//! source stage it is about and, where there is one, the fix.

use crate::gateway::GatewayError;

#[derive(Debug, thiserror::Error)]
pub enum ClosureError {
    #[error("`{path}` does not exist in the source stage")]
    ExecutableNotFound { path: String },

    #[error("`{path}` is a directory, not an executable")]
    NotAFile { path: String },

    #[error("`{path}` is not an ELF file{hint}")]
    NotElf { path: String, hint: String },

    #[error("`{path}` is not a valid ELF file: {reason}")]
    BadElf { path: String, reason: String },

    #[error(
        "`{name}`, needed by `{needed_by}`, is not in the source stage; looked in {}{}",
        list(searched),
        skipped_note(skipped)
    )]
    MissingLibrary {
        name: String,
        needed_by: String,
        /// Directories searched, in the loader's order.
        searched: Vec<String>,
        /// Candidates found but passed over, with the reason.
        skipped: Vec<String>,
    },

    #[error("the loader `{path}` of `{executable}` does not exist in the source stage")]
    MissingInterpreter { path: String, executable: String },

    #[error("`{path}` is {found}, but `{executable}` needs {expected}")]
    WrongArch {
        path: String,
        executable: String,
        found: String,
        expected: String,
    },

    #[error(
        "`{library}` was found in `{dir}` through /etc/ld.so.conf, but the source stage has \
         no /etc/ld.so.cache, and the loader reads only the cache (run `ldconfig` in that stage)"
    )]
    NoLoaderCache { library: String, dir: String },

    #[error("`{path}`: too many levels of symbolic links")]
    TooManyLinks { path: String },

    #[error("`{path}` is {size} bytes, more than the {limit} bytes read of a configuration file")]
    TooLarge { path: String, size: u64, limit: u64 },

    #[error("cannot read `{path}` in the source stage: {message}")]
    Read { path: String, message: String },

    #[error(transparent)]
    Gateway(#[from] GatewayError),

    #[error("internal error in the closure resolver: {0}")]
    Internal(String),
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "no directory (no search path applies)".to_string()
    } else {
        items.join(", ")
    }
}

fn skipped_note(skipped: &[String]) -> String {
    if skipped.is_empty() {
        String::new()
    } else {
        format!("; passed over {}", skipped.join(", "))
    }
}
