//! The server end to end, on every backend: the insurer API, eligibility checks through the
//! router with a real PKI, and mutual TLS. One test binary for the crate (one link on two
//! cores), one module per subject.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly by design

mod audit;
mod browser;
mod bulk;
mod busy;
mod checks;
mod checkups;
mod connections;
mod console;
mod fhir;
mod harvesting;
mod members;
mod openapi;
mod operator;
mod pages;
mod programme;
mod refusals;
mod registration;
mod tls;
mod tokens;
mod world;

#[path = "../../../onshi-checkup/tests/support/schema_check.rs"]
mod schema_check;

#[path = "../../../onshi-checkup/tests/support/claims.rs"]
mod claims;
