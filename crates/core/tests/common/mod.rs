//! Shared helpers of the core's integration tests.

#![allow(dead_code)]

pub mod relay_model;
