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
    #[error("the file is empty")]
    EmptyFile,
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
        let csv = self.format == Format::Csv;
        let schema = &self.schema;
        self.batches.next().map(|r| {
            r.map_err(|e| ReadError::Malformed {
                format,
                message: batch_error(&e.to_string(), schema, csv),
            })
        })
    }
}

/// Arrow's message for a value it cannot parse, without the rest of the row (which may
/// be personal), naming the column and the file's line, and saying what to do: types of
/// text formats come from their first rows.
fn batch_error(message: &str, schema: &SchemaRef, csv: bool) -> String {
    let m = message.split(". Row data:").next().unwrap_or(message);
    if !m.contains("Error while parsing value") {
        return m.to_owned();
    }
    // "… for column 3 at line 66001": the column by index, the line counted over data
    // rows from 1; a CSV file's line also counts its header.
    let number_after = |key: &str| -> Option<(usize, usize, u64)> {
        let at = m.find(key)? + key.len();
        let digits = m.get(at..)?.bytes().take_while(u8::is_ascii_digit).count();
        Some((
            at - key.len(),
            at + digits,
            m.get(at..at + digits)?.parse().ok()?,
        ))
    };
    let mut out = m.to_owned();
    if let Some((start, end, line)) = number_after(" at line ") {
        let line = if csv { line + 1 } else { line };
        out = format!(
            "{}{}",
            m.get(..start).unwrap_or(m),
            m.get(end..).unwrap_or("")
        );
        out.push_str(&format!(" at line {line}"));
    }
    if let Some((start, end, col)) = number_after(" for column ") {
        if let Some(f) = usize::try_from(col)
            .ok()
            .and_then(|c| schema.fields().get(c))
        {
            let named = format!(" for column `{}`", f.name());
            out = out.replacen(m.get(start..end).unwrap_or(""), &named, 1);
        }
    }
    format!(
        "{out}; the column's type was inferred from the first {INFER_ROWS} rows, so a later value of another type (a word in a numeric column) cannot be read: fix or empty that value"
    )
}

/// Opens a dataset file.
pub fn open(mut file: File) -> Result<Table, ReadError> {
    if file.metadata()?.len() == 0 {
        return Err(ReadError::EmptyFile);
    }
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
