//! meshlint: an offline linter and sidecar-injection auditor for Kubernetes manifests
//! on an Istio service mesh.
//!
//! Layers, each using only those above it: [`source`] (files, line index) → [`yaml`]
//! (the only module that knows the YAML parser) → [`load`] (bytes to documents) →
//! [`model`] (Kubernetes objects and the cross-file index) → [`istio`] (profiles) →
//! [`rules`] → [`engine`] (the pipeline) → [`render`] (the only place that formats
//! output) → `cli` in the binary.

pub mod audit;
pub mod baseline;
pub mod cache;
pub mod config;
pub mod diag;
pub mod engine;
pub mod escape;
pub mod fsio;
#[doc(hidden)]
pub mod fuzzing;
pub mod init;
pub mod inject;
pub mod istio;
pub mod kustomize;
pub mod listing;
pub mod load;
pub mod model;
pub mod paths;
pub mod render;
pub mod rendering;
pub mod rules;
pub mod source;
pub mod suppress;
pub mod yaml;
