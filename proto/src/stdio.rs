//! A gRPC channel over the process's own stdin/stdout.
//!
//! BuildKit starts a gateway frontend as a container process and serves the
//! `LLBBridge` API on that process's stdio: the frontend is the gRPC client,
//! and the "connection" is the pipe pair it was born with. tonic wants a
//! connector that dials; ours hands out the one stdio stream exactly once
//! (a second dial means the connection is gone, which is an error, not a
//! reason to reconnect).

use std::io;
use std::sync::{Arc, Mutex};

use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tonic::transport::{Channel, Endpoint, Uri};

use crate::gateway::llb_bridge_client::LlbBridgeClient;

/// BuildKit's own gRPC message limit (`defaults.DefaultMaxRecvMsgSize`-ish):
/// definitions and file reads can be large.
pub const MAX_MESSAGE_BYTES: usize = 16 << 20;

/// The gateway client type the frontend uses.
pub type BridgeClient = LlbBridgeClient<Channel>;

/// Connects an `LLBBridge` client over any byte stream (stdio in production,
/// an in-memory duplex in tests).
pub async fn connect<S>(stream: S) -> Result<BridgeClient, tonic::transport::Error>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let slot = Arc::new(Mutex::new(Some(stream)));
    let connector = tower::service_fn(move |_: Uri| {
        let taken = slot.lock().map(|mut s| s.take()).unwrap_or(None);
        async move {
            taken.map(TokioIo::new).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the stdio connection to BuildKit is closed",
                )
            })
        }
    });
    // The URI is never dialled; tonic only needs a well-formed authority.
    let channel = Endpoint::from_static("http://buildkit.stdio")
        .connect_with_connector(connector)
        .await?;
    Ok(LlbBridgeClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES))
}

/// Connects over this process's stdin (daemon → us) and stdout (us → daemon).
pub async fn connect_stdio() -> Result<BridgeClient, tonic::transport::Error> {
    connect(tokio::io::join(tokio::io::stdin(), tokio::io::stdout())).await
}
