//! The wire boundary between Stagecraft and BuildKit.
//!
//! Everything that BuildKit defines — LLB ops, the gateway API, capability
//! names — enters the project through this crate, so the rest of the code
//! never names `bollard_buildkit_proto` directly and a protocol upgrade
//! touches one place.

pub mod canonical;
pub mod caps;
pub mod stdio;

/// LLB: ops, definitions and source maps (`solver/pb/ops.proto`).
pub use bollard_buildkit_proto::pb;

/// The gateway API a frontend speaks to the daemon (`frontend/gateway/pb`).
pub mod gateway {
    /// File metadata as `ReadDir` and `StatFile` answer it
    /// (`github.com/tonistiigi/fsutil/types.Stat`).
    pub use bollard_buildkit_proto::fsutil::types::Stat;
    pub use bollard_buildkit_proto::moby::buildkit::v1::apicaps::ApiCap;
    pub use bollard_buildkit_proto::moby::buildkit::v1::frontend::*;
}

/// `google.rpc.Status`, the error a frontend returns to the client, and
/// the `Any` its details are wrapped in.
pub use bollard_buildkit_proto::google::protobuf::Any;
pub use bollard_buildkit_proto::google::rpc::Status as RpcStatus;

/// Encoding helpers re-exported so callers need not depend on prost.
pub use prost::Message;
