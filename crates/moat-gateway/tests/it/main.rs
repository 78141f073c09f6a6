//! The gateway end to end on loopback: a real upstream server, real connections.

mod proxy;
mod shared;
