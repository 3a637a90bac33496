//! The registry's behaviour, on every backend: SQLite always, PostgreSQL when
//! ONSHI_TEST_DATABASE_URL is set (see `onshi_store::testing`). One test binary for the crate
//! (one link on two cores), one module per subject.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod audit;
mod cards;
mod checkups;
mod common;
mod import;
mod members;
mod opening;
mod operator;
mod programme;
mod staff;
mod times;
mod tokens;
