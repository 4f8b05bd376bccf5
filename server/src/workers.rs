//! Background work: the ticket dispatcher, the billing schedule and the jobs with live
//! progress (discovery, import), the sync's polling rounds and its webhook callouts, history pruning, and writing the Autotask API usage. Each loop is started by `startup::serve` and stops with it.

pub mod api_usage;
pub mod billing_schedule;
pub mod callouts;
pub mod dispatcher;
pub mod jobs;
pub mod retention;
pub mod sync;
