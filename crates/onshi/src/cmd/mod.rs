//! One module per verb of `onshi`, each with its options (clap `Args` or `Subcommand`) and its
//! `run`. Shared pieces live beside `cmd/`: `config` (store and key), `client` (the facility-side
//! HTTP client), `cards` and `pki_dir`.

pub mod account;
pub mod agent;
pub mod audit;
pub mod check;
pub mod demo;
pub mod employer;
pub mod export;
pub mod facility;
pub mod generate;
pub mod import;
pub mod institution;
pub mod insurer;
pub mod key;
pub mod loadgen;
pub mod pki;
pub mod publish;
pub mod reader;
pub mod register;
pub mod registrations;
pub mod serve;
pub mod subsidy;
