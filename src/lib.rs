//! Gavel: a review console for enterprise AI governance.

pub mod auditor;
pub mod auth;
pub mod backend;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod evidence;
pub mod files;
pub mod net;
pub mod notify;
pub mod paths;
pub mod report;
pub mod retry;
pub mod seed;
pub mod server;
pub mod text;
pub mod tui;
