//! The gateway end to end on loopback: a real upstream server, real connections.

mod extraction;
mod faults;
mod proxy;
mod shared;
