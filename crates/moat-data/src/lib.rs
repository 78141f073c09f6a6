//! The dataset engine of Moat. For now: the schema summary recorded when a dataset
//! version is registered (format sniffed from the bytes; columns and types for CSV,
//! Parquet and JSON lines). Profiles, validation and drift build on it.
//!
//! ```no_run
//! let file = std::fs::File::open("loans.csv").unwrap();
//! let summary = moat_data::summarize(file).unwrap();
//! println!("{} columns", summary.columns.len());
//! ```

// Parsers of untrusted bytes: no unwrap, no unchecked indexing, no panic (STYLE.md §2).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)
)]

pub mod check;
pub mod collect;
pub mod drift;
pub mod html;
mod parquet_meta;
pub mod poison;
pub mod profile;
pub mod read;
mod schema;
pub mod sketch;
pub mod stats;

pub use schema::{
    summarize, Column, Error, Format, SchemaSummary, MAX_COLUMNS, MAX_FOOTER, SAMPLE_BYTES,
};
