//! Background work: the ticket dispatcher, the billing schedule and the jobs with live
//! progress (discovery, import). Each loop is started by `startup::serve` and stops with it.

pub mod billing_schedule;
pub mod dispatcher;
pub mod jobs;
pub mod sync;
