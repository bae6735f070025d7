//! The BuildKit gateway, as a frontend sees it: options from the
//! environment and the `LLBBridge` calls over stdio. Nothing here knows the
//! spec format; `crate::frontend` joins the two.

mod bridge;
mod files;
mod options;

pub use bridge::{Bridge, DaemonCaps, GatewayError, PlatformResult};
pub use files::{FileKind, FileStat};
pub use options::FrontendOptions;
