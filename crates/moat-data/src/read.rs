//! Datasets read as Arrow record batches, a batch at a time: CSV (header row, types
//! inferred from the first [`INFER_ROWS`] rows), JSON lines (the same) and Parquet (its
//! footer first checked by the bounded reader of `parquet_meta`, as `summarize` does).
//! The format is sniffed from the bytes, never the name. Memory is one batch of
//! [`BATCH_ROWS`] rows, whatever the file's size.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, DataType, SchemaRef};

use crate::{summarize, Format};

/// Rows read to infer the column types of a text file.
pub const INFER_ROWS: usize = 10_000;
/// Rows per batch.
pub const BATCH_ROWS: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("cannot read the dataset")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Schema(#[from] crate::Error),
    #[error("not a dataset Moat reads (CSV with a header row, JSON lines or Parquet)")]
    NotTabular,
    #[error("the dataset has no rows")]
    Empty,
    /// Arrow's message names the line and column of a malformed value.
    #[error("malformed {format} data: {message}")]
    Malformed {
        format: &'static str,
        message: String,
    },
}

/// A dataset open for reading: its format, its columns and the batches still to come.
pub struct Table {
    pub format: Format,
    pub schema: SchemaRef,
    batches: Box<dyn Iterator<Item = Result<RecordBatch, ArrowError>> + Send>,
}

impl Table {
    /// The next batch, `None` at the end.
    pub fn next_batch(&mut self) -> Option<Result<RecordBatch, ReadError>> {
        let format = self.format.as_str();
        self.batches.next().map(|r| {
            r.map_err(|e| ReadError::Malformed {
                format,
                message: e.to_string(),
            })
        })
    }
}

/// Opens a dataset file.
pub fn open(mut file: File) -> Result<Table, ReadError> {
    let summary = summarize(&mut file)?;
    file.seek(SeekFrom::Start(0))?;
    let malformed = |format: &'static str| {
        move |e: ArrowError| ReadError::Malformed {
            format,
            message: e.to_string(),
        }
    };
    match summary.format {
        Format::Parquet => {
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|e| ReadError::Malformed {
                        format: "Parquet",
                        message: e.to_string(),
                    })?
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .map_err(|e| ReadError::Malformed {
                        format: "Parquet",
                        message: e.to_string(),
                    })?;
            let schema = reader.schema();
            Ok(Table {
                format: Format::Parquet,
                schema,
                batches: Box::new(reader),
            })
        }
        Format::Csv => {
            let fmt = arrow_csv::reader::Format::default().with_header(true);
            let (schema, _) = fmt
                .infer_schema(BufReader::new(&mut file), Some(INFER_ROWS))
                .map_err(malformed("CSV"))?;
            file.seek(SeekFrom::Start(0))?;
            if schema.fields().is_empty() {
                return Err(ReadError::Empty);
            }
            let schema = std::sync::Arc::new(schema);
            let reader = arrow_csv::ReaderBuilder::new(schema.clone())
                .with_header(true)
                .with_batch_size(BATCH_ROWS)
                .build(BufReader::with_capacity(1 << 20, file))
                .map_err(malformed("CSV"))?;
            Ok(Table {
                format: Format::Csv,
                schema,
                batches: Box::new(reader),
            })
        }
        Format::Jsonl => {
            let (schema, _) = arrow_json::reader::infer_json_schema_from_seekable(
                BufReader::new(&mut file),
                Some(INFER_ROWS),
            )
            .map_err(malformed("JSON lines"))?;
            file.seek(SeekFrom::Start(0))?;
            let schema = std::sync::Arc::new(schema);
            let reader = arrow_json::ReaderBuilder::new(schema.clone())
                .with_batch_size(BATCH_ROWS)
                .build(BufReader::with_capacity(1 << 20, file))
                .map_err(malformed("JSON lines"))?;
            Ok(Table {
                format: Format::Jsonl,
                schema,
                batches: Box::new(reader),
            })
        }
        Format::Other => Err(ReadError::NotTabular),
    }
}

/// How a column is analysed, from its Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Integers, floats, decimals, dates and times: values as `f64`.
    Number,
    /// Booleans and strings: values as text.
    Label,
    /// Nested or binary data: counted, not analysed.
    Other,
}

pub fn storage(t: &DataType) -> Storage {
    use DataType as T;
    match t {
        T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::UInt8
        | T::UInt16
        | T::UInt32
        | T::UInt64
        | T::Float16
        | T::Float32
        | T::Float64
        | T::Decimal32(..)
        | T::Decimal64(..)
        | T::Decimal128(..)
        | T::Decimal256(..)
        | T::Date32
        | T::Date64
        | T::Timestamp(..)
        | T::Time32(_)
        | T::Time64(_)
        | T::Duration(_) => Storage::Number,
        T::Boolean | T::Utf8 | T::LargeUtf8 | T::Utf8View | T::Dictionary(..) | T::Null => {
            Storage::Label
        }
        _ => Storage::Other,
    }
}
