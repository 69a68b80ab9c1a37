//! `--log-format json`: one JSON object a line, written field by field.
//!
//! tracing-subscriber's own JSON format gathers every field into a map of `serde_json::Value`s
//! before writing it, which cost the service about 5 us of a ~90 us request (perf, in
//! `cargo bench -p imds-attest-service --bench serve`). This writes the same object (the
//! keys `timestamp`, `level`, then the event's fields, `message` among them, flattened as
//! `.json().flatten_event(true)` gave them) straight into the line.

use std::fmt::{self, Write};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON line format.
pub(crate) struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::with_capacity(320);
        line.push_str("{\"timestamp\":");
        let now = OffsetDateTime::now_utc();
        match now.format(&Rfc3339) {
            Ok(timestamp) => escaped(&mut line, &timestamp),
            Err(_) => line.push_str("null"),
        }
        line.push_str(",\"level\":\"");
        line.push_str(event.metadata().level().as_str());
        line.push('"');
        let mut fields = Fields {
            line: &mut line,
            scratch: String::new(),
        };
        event.record(&mut fields);
        line.push_str("}\n");
        writer.write_str(&line)
    }
}

/// Appends each field as `,"name":value`.
struct Fields<'a> {
    line: &'a mut String,
    /// Where a field's `Debug` text is written before it is escaped.
    scratch: String,
}

impl Fields<'_> {
    fn key(&mut self, field: &Field) {
        self.line.push(',');
        escaped(self.line, field.name());
        self.line.push(':');
    }
}

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.scratch.clear();
        let _ = write!(self.scratch, "{value:?}");
        self.key(field);
        escaped(self.line, &self.scratch);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        escaped(self.line, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.line.push_str(if value { "true" } else { "false" });
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.key(field);
        let _ = write!(self.line, "{value}");
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        if value.is_finite() {
            let _ = write!(self.line, "{value}");
        } else {
            // JSON has no NaN or infinity.
            self.line.push_str("null");
        }
    }
}

/// `text` as a JSON string, quotes included: `"` and `\` escaped, control characters as
/// `\n`, `\r`, `\t` or `\u00XX`; everything else (any Unicode) as it is.
fn escaped(line: &mut String, text: &str) {
    line.push('"');
    let mut plain = 0;
    for (i, c) in text.char_indices() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if c < ' ' => "",
            _ => continue,
        };
        line.push_str(text.get(plain..i).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(line, "\\u{:04x}", u32::from(c));
        } else {
            line.push_str(escape);
        }
        plain = i.saturating_add(c.len_utf8());
    }
    line.push_str(text.get(plain..).unwrap_or_default());
    line.push('"');
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// The lines `log` writes through this format.
    fn lines(log: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(captured.clone())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn a_request_line_is_one_json_object_with_every_field() {
        let method = "POST";
        let kind: Option<&str> = None;
        let rule = Some("contoso");
        let lines = lines(|| {
            tracing::info!(
                method = %method,
                path = "/v1/verify",
                status = 200u16,
                kind = kind,
                rule = rule,
                latency_ms = 0.25,
                nan = f64::NAN,
                negative = -3i64,
                ok = true,
                "request"
            );
        });
        let [line] = lines.as_slice() else {
            panic!("one line: {lines:?}")
        };
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "request");
        assert_eq!(line["method"], "POST");
        assert_eq!(line["path"], "/v1/verify");
        assert_eq!(line["status"], 200);
        assert_eq!(line["rule"], "contoso");
        assert_eq!(line["latency_ms"], 0.25);
        assert_eq!(line["nan"], Value::Null);
        assert_eq!(line["negative"], -3);
        assert_eq!(line["ok"], true);
        assert!(line.get("kind").is_none(), "an absent field is left out");
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(
            OffsetDateTime::parse(timestamp, &Rfc3339).is_ok(),
            "{timestamp}"
        );
    }

    #[test]
    fn quotes_backslashes_control_characters_and_unicode_survive() {
        let nasty = "a \"quoted\" \\ path\nwith\ttabs\r, \u{1} \u{1f} and \u{e9}\u{1f600}";
        let lines = lines(|| {
            tracing::warn!(error = %nasty, "failed: {}", "x\"y");
            tracing::error!(field = nasty);
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["error"], nasty);
        assert_eq!(lines[0]["message"], "failed: x\"y");
        assert_eq!(lines[0]["level"], "WARN");
        assert_eq!(lines[1]["field"], nasty);
        assert_eq!(lines[1]["level"], "ERROR");
    }
}
