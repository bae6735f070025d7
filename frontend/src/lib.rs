//! Stagecraft: a BuildKit frontend that builds images from a YAML spec.
//!
//! The pipeline is `spec` (YAML → validated model) → `compile` (model →
//! LLB through the `llb` builder) → `gateway` (solve it on a daemon and
//! return an image with the config from `image`).

pub mod compile;
pub mod convert;
pub mod frontend;
pub mod gateway;
pub mod image;
pub mod llb;
pub mod reference;
pub mod spec;
