//! `stdp-flow`: an empirical test of Theorem 1 of Christensen & Kallsen (2023), which says that
//! many small local STDP updates (eq. 3.2) follow the gradient flow dZ/dt = -kappa grad L(Z).
//!
//! Layers: [`loss`] and [`scaling`] define the model, [`recursion`] and [`flow`] compute it,
//! [`engine`] runs the Monte Carlo, [`stats`] turns samples into estimates, fits and verdicts
//! (free of model code), [`drift`] measures the realised drift constant, [`experiment`] reads
//! and validates TOML files, [`analysis`] assembles results and [`report`] writes them.

pub mod analysis;
pub mod app;
pub mod bench;
pub mod claims;
pub mod convergence;
pub mod data;
pub mod drift;
pub mod engine;
pub mod error;
pub mod experiment;
pub mod fastmath;
pub mod flow;
pub mod fluctuation;
pub mod learning;
pub mod loss;
pub mod plan;
pub mod provenance;
pub mod recursion;
pub mod report;
pub mod results;
pub mod rng;
pub mod run;
pub mod scaling;
pub mod serde_nan;
pub mod shard;
pub mod stats;

pub use convergence::ConvergenceStudy;
pub use error::Error;
pub use experiment::{Against, ClaimKind, ClaimSpec, DriftChoice, Metric};
pub use loss::Loss;
pub use results::Summary;
pub use scaling::Scaling;
