//! The BuildKit gateway, as a frontend sees it: options from the
//! environment and the `LLBBridge` calls over stdio. Nothing here knows the
//! spec format; `crate::frontend` joins the two.

mod bridge;
mod options;

pub use bridge::{Bridge, DaemonCaps, GatewayError, PlatformResult};
pub use options::FrontendOptions;
