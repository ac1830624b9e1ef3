//! `stdp-flow`: an empirical test of Theorem 1 of Christensen & Kallsen (2023), which says that
//! many small local STDP updates (eq. 3.2) follow the gradient flow dZ/dt = -kappa grad L(Z).
//!
//! A study of any loss is one builder call: [`ConvergenceStudy`] takes a [`Loss`] (user-defined
//! ones included), a [`Scaling`] and a [`ClaimSpec`], simulates, fits, decides and returns the
//! [`Summary`] that `stdp-flow run` writes. Experiment files are read by [`experiment`], the
//! command line's workflows (`run`, `merge`, `verify`, `plot`, `bench`) are library calls in
//! [`app`], and [`learning`] runs STDP on real data.
//!
//! Inside, the data flows: [`loss`] and the scaling define the model; the recursion and the RK4
//! flow compute it; [`engine`] runs the Monte Carlo; the run loop turns each point into a
//! [`Row`]; [`stats`] turns samples into estimates, fits and verdicts (free of model code); the
//! analysis and the claims decide; [`fluctuation`] gives the limit's constants; the report writes
//! JSON, CSV, figures and markdown.
#![warn(missing_docs)]

pub mod app;
pub mod engine;
pub mod experiment;
pub mod fluctuation;
pub mod learning;
pub mod loss;
pub mod plan;
pub mod results;
pub mod stats;

mod analysis;
mod bench;
mod claims;
mod convergence;
mod data;
mod drift;
mod error;
mod fastmath;
mod flow;
mod lanes;
mod normal;
mod normal_tables;
mod provenance;
mod recursion;
mod report;
mod rng;
mod run;
mod scaling;
mod serde_nan;
mod shard;

pub use claims::{Against, ClaimKind, ClaimSpec, Metric};
pub use convergence::ConvergenceStudy;
pub use data::{Dataset, Split};
pub use error::{Error, Location};
pub use experiment::DriftChoice;
pub use loss::Loss;
pub use provenance::{Provenance, fnv1a};
pub use results::{ConstantPoint, ConstantReport, Row, Summary};
pub use run::{Checkpoint, NoCheckpoint, Observer, RunOptions, Silent, run, run_resumable};
pub use scaling::Scaling;
