//! All integration tests, in one test binary (modules below).
//!
//! The property and trace suites are generic over the policy: a new policy
//! gets all of them by adding one `policy_suite!` line in `suites.rs`.

mod common;
mod corrupt;
mod errors;
mod faces;
mod fuzz_regressions;
mod hostile;
mod kernel;
mod lean;
mod list_orders;
mod machine;
mod model;
mod pages;
mod suites;
mod traces;
mod wilderness;
