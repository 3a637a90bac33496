//! CP932 (Windows-31J, the Shift_JIS that Japanese office software writes) decoded while it is
//! read: for files too large to hold, such as an insurer's member file. A byte sequence that is
//! not CP932 is an error naming its line, never a replacement character.

use std::io::{self, Read};

use encoding_rs::{Decoder, DecoderResult, SHIFT_JIS};

/// A byte sequence that is not CP932: where, by line (counted in the decoded text, so it is the
/// line of the bad byte, however far ahead of the CSV parser the decoder runs) and byte.
#[derive(Debug)]
pub struct NotCp932 {
    /// The line (from 1) of the bad byte.
    pub line: u64,
    /// Its offset in the input (from 0).
    pub byte: u64,
}

impl std::fmt::Display for NotCp932 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not valid CP932 (Shift_JIS) near byte {}", self.byte)
    }
}

impl std::error::Error for NotCp932 {}

/// Decodes CP932 into UTF-8 as it reads; a byte sequence that is not CP932 is an error naming
/// its line and offset ([`NotCp932`]; no replacement characters are ever stored).
pub struct Cp932Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    consumed: u64,
    /// Line ends in the text decoded and handed on so far.
    newlines: u64,
    eof: bool,
    done: bool,
}

impl<R: Read> Cp932Reader<R> {
    /// A reader of the CP932 bytes of `inner`, giving UTF-8.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            decoder: SHIFT_JIS.new_decoder(),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            output: vec![0; 128 * 1024],
            out_start: 0,
            out_end: 0,
            consumed: 0,
            newlines: 0,
            eof: false,
            done: false,
        }
    }

    /// Decodes the next piece of input into `output`.
    fn fill(&mut self) -> io::Result<()> {
        self.out_start = 0;
        self.out_end = 0;
        loop {
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = self.inner.read(&mut self.input)?;
                self.eof = self.end == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.start..self.end],
                &mut self.output[self.out_end..],
                self.eof,
            );
            self.start += read;
            self.consumed += read as u64;
            self.out_end += written;
            let newlines_here = || {
                self.output[..self.out_end]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count() as u64
            };
            match result {
                DecoderResult::Malformed(bad, _) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        NotCp932 {
                            line: self.newlines + newlines_here() + 1,
                            byte: self.consumed.saturating_sub(u64::from(bad)),
                        },
                    ));
                }
                DecoderResult::OutputFull => {
                    self.newlines += newlines_here();
                    return Ok(());
                }
                DecoderResult::InputEmpty if self.eof => {
                    self.newlines += newlines_here();
                    self.done = true;
                    return Ok(());
                }
                DecoderResult::InputEmpty if self.out_end > 0 => {
                    self.newlines += newlines_here();
                    return Ok(());
                }
                DecoderResult::InputEmpty => {}
            }
        }
    }
}

impl<R: Read> Read for Cp932Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.out_start == self.out_end {
            if self.done {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = out.len().min(self.out_end - self.out_start);
        out[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_across_reads_and_names_the_line_of_a_bad_byte() {
        let text = "番号,氏名\n1,試験 花子\n".repeat(10_000);
        let bytes = SHIFT_JIS.encode(&text).0.into_owned();
        let mut out = String::new();
        Cp932Reader::new(io::Cursor::new(bytes))
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, text);
        let err = Cp932Reader::new(io::Cursor::new(b"a\nb\nc\x81\x20d".to_vec()))
            .read_to_string(&mut String::new())
            .unwrap_err();
        let bad = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<NotCp932>())
            .unwrap();
        assert_eq!((bad.line, bad.byte), (3, 5));
    }
}
