//! Stagecraft: a BuildKit frontend that builds images from a YAML spec.
//!
//! Data flows one way (docs/architecture.md): `spec` (YAML → validated
//! model) → `resolve` (args substituted once, the target's stages in
//! dependency order, the images they need) → `compile` (resolved model →
//! LLB through the `llb` builder, one file per step kind) → `frontend` /
//! `gateway` (solve it on a daemon and return an image with the config
//! from `image`). `options` holds what the command line adds to the spec; `lint` warns
//! about specs that build but likely not as meant.

pub mod closure;
pub mod compile;
pub mod convert;
pub mod frontend;
pub mod gateway;
pub mod graph;
pub mod image;
pub mod lint;
pub mod llb;
pub mod options;
pub mod reference;
pub mod resolve;
pub mod spec;
