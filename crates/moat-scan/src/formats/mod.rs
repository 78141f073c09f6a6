//! One parser per artifact format.

pub(crate) mod gguf;
pub(crate) mod hdf5;
pub(crate) mod keras;
pub(crate) mod numpy;
pub(crate) mod onnx;
pub(crate) mod pickle;
pub(crate) mod protobuf;
pub(crate) mod safetensors;
pub(crate) mod savedmodel;
pub(crate) mod tar;
pub(crate) mod zip;
