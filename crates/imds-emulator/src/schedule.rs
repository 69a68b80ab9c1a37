//! Scheduled events: each moves Scheduled -> Started (at its NotBefore, or when approved) ->
//! gone (after its duration), and every change increments the document's incarnation.
//!
//! The schedule is advanced lazily, whenever it is read or changed, from a monotonic clock;
//! a time scale F makes every offset and duration pass F times faster than real time.

use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::range::{Range, YEAR_SECONDS};

/// `notBeforeSeconds`: up to a year ahead.
pub(crate) const NOT_BEFORE: Range = Range::new("notBeforeSeconds", 0, YEAR_SECONDS);
/// `durationSeconds`: up to a year.
pub(crate) const DURATION: Range = Range::new("durationSeconds", 0, YEAR_SECONDS);

/// What the platform is about to do to the VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum EventType {
    /// Paused for a few seconds (host maintenance).
    Freeze,
    /// Restarted.
    Reboot,
    /// Moved to another host.
    Redeploy,
    /// A Spot VM being evicted.
    Preempt,
    /// Deleted.
    Terminate,
}

/// One event to schedule, from the config's scenario or `POST /admin/scheduled-events`:
/// `{"eventType": "Reboot", "notBeforeSeconds": 30, "durationSeconds": 60}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EventSpec {
    /// What happens.
    pub event_type: EventType,
    /// Seconds from now (from the start, in a scenario) until it starts on its own: 0 to a
    /// year (31536000).
    #[serde(default, deserialize_with = "not_before")]
    pub not_before_seconds: u64,
    /// Seconds it lasts once started, 0 to a year; then it leaves the document.
    #[serde(default = "default_duration", deserialize_with = "duration")]
    pub duration_seconds: u64,
    /// Its description.
    #[serde(default)]
    pub description: String,
    /// `Platform` or `User`.
    #[serde(default = "platform")]
    pub event_source: String,
}

impl EventSpec {
    /// Checks the numbers' ranges, for a spec not read from JSON or TOML (which checks them).
    pub(crate) fn check(&self) -> Result<(), String> {
        NOT_BEFORE.check(self.not_before_seconds)?;
        DURATION.check(self.duration_seconds)?;
        Ok(())
    }
}

fn not_before<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    NOT_BEFORE.deserialize(d)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    DURATION.deserialize(d)
}

fn default_duration() -> u64 {
    60
}

fn platform() -> String {
    "Platform".into()
}

struct Live {
    id: String,
    spec: EventSpec,
    due: Instant,
    not_before: OffsetDateTime,
    ends: Option<Instant>,
}

/// The most events a schedule holds at once (injected or configured, not yet over): enough for
/// any scenario, and what keeps a loop of `POST /admin/scheduled-events` from growing the
/// emulator without bound.
pub const MAX_SCHEDULED_EVENTS: usize = 100;

/// The VM's scheduled events.
pub(crate) struct Schedule {
    scale: f64,
    incarnation: u64,
    events: Vec<Live>,
}

impl Schedule {
    /// An empty schedule whose clock runs `scale` times faster than real time.
    pub(crate) fn new(scale: f64) -> Schedule {
        Schedule {
            scale,
            incarnation: 0,
            events: Vec::new(),
        }
    }

    /// `seconds` of scenario time in real time; saturated, as the ranges keep it far from
    /// overflowing anyway.
    fn real(&self, seconds: u64) -> Duration {
        real(seconds, self.scale)
    }

    /// Schedules `spec` (its offset counted from `now`); returns its id, or why not: the
    /// schedule already holds [`MAX_SCHEDULED_EVENTS`] events that are not over.
    pub(crate) fn add(&mut self, spec: EventSpec, now: Instant) -> Result<String, String> {
        self.advance(now);
        if self.events.len() >= MAX_SCHEDULED_EVENTS {
            return Err(format!(
                "the schedule holds {MAX_SCHEDULED_EVENTS} events, the most it keeps at once; \
                 approve some or let them end, or restart the emulator"
            ));
        }
        let offset = self.real(spec.not_before_seconds);
        let id = event_id();
        let wall = OffsetDateTime::now_utc();
        self.events.push(Live {
            id: id.clone(),
            due: later(now, offset),
            not_before: time::Duration::try_from(offset)
                .ok()
                .and_then(|d| wall.checked_add(d))
                .unwrap_or(wall),
            ends: None,
            spec,
        });
        self.incarnation = self.incarnation.saturating_add(1);
        Ok(id)
    }

    /// Starts the events named now; refuses all if one is not in the document.
    pub(crate) fn approve(&mut self, ids: &[String], now: Instant) -> Result<(), String> {
        self.advance(now);
        if let Some(unknown) = ids
            .iter()
            .find(|id| !self.events.iter().any(|e| &e.id == *id))
        {
            return Err(format!(
                "Bad request. Event {unknown} is not in the document"
            ));
        }
        let mut changed = false;
        for index in 0..self.events.len() {
            let Some(event) = self.events.get(index) else {
                continue;
            };
            if event.ends.is_none() && ids.contains(&event.id) {
                let ends = later(now, self.real(event.spec.duration_seconds));
                if let Some(event) = self.events.get_mut(index) {
                    event.ends = Some(ends);
                    changed = true;
                }
            }
        }
        if changed {
            self.incarnation = self.incarnation.saturating_add(1);
        }
        Ok(())
    }

    /// Starts what is due and drops what is over, one incarnation per change.
    fn advance(&mut self, now: Instant) {
        let scale = self.scale;
        let mut changes = 0;
        for event in &mut self.events {
            if event.ends.is_none() && now >= event.due {
                let lasts = real(event.spec.duration_seconds, scale);
                event.ends = Some(later(event.due, lasts));
                changes += 1u64;
            }
        }
        let before = self.events.len();
        self.events.retain(|e| e.ends.is_none_or(|ends| now < ends));
        let gone = before.saturating_sub(self.events.len());
        changes = changes.saturating_add(u64::try_from(gone).unwrap_or(u64::MAX));
        self.incarnation = self.incarnation.saturating_add(changes);
    }

    /// The `/metadata/scheduledevents` document at `now`.
    pub(crate) fn document(&mut self, vm_name: &str, now: Instant) -> Value {
        self.advance(now);
        let events: Vec<Value> = self
            .events
            .iter()
            .map(|e| {
                let (status, not_before) = match e.ends {
                    Some(_) => ("Started", String::new()),
                    None => ("Scheduled", rfc1123(e.not_before)),
                };
                json!({
                    "EventId": e.id,
                    "EventType": e.spec.event_type,
                    "ResourceType": "VirtualMachine",
                    "Resources": [vm_name],
                    "EventStatus": status,
                    "NotBefore": not_before,
                    "Description": e.spec.description,
                    "EventSource": e.spec.event_source,
                    "DurationInSeconds": e.spec.duration_seconds,
                })
            })
            .collect();
        json!({"DocumentIncarnation": self.incarnation, "Events": events})
    }
}

/// `seconds` of scenario time at time scale `scale`, in real time (`Duration::MAX` if that
/// cannot be represented: a scale out of its range must not panic a request).
fn real(seconds: u64, scale: f64) -> Duration {
    Duration::try_from_secs_f64(seconds as f64 / scale).unwrap_or(Duration::MAX)
}

/// `from + by`, or a century after `from` if that overflows the clock: an event so far away
/// never starts, rather than panicking every request that reads the schedule.
fn later(from: Instant, by: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * YEAR_SECONDS);
    from.checked_add(by)
        .or_else(|| from.checked_add(CENTURY))
        .unwrap_or(from)
}

/// `Mon, 19 Sep 2016 18:29:47 GMT`, as IMDS writes NotBefore.
fn rfc1123(t: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

/// A random (version 4) UUID.
fn event_id() -> String {
    let mut b = [0u8; 16];
    // A failed draw still gives a unique-enough id from the clock.
    if openssl::rand::rand_bytes(&mut b).is_err() {
        b = OffsetDateTime::now_utc()
            .unix_timestamp_nanos()
            .to_le_bytes();
    }
    let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
    let part = |from: usize, to: usize| hex.get(from..to).unwrap_or_default().to_owned();
    format!(
        "{}-{}-4{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(13, 16),
        part(16, 20),
        part(20, 32)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arithmetic_saturates_instead_of_panicking() {
        let now = Instant::now();
        for scale in [1e-300, 1.0, f64::MIN_POSITIVE, 0.0, -1.0, f64::NAN] {
            let mut schedule = Schedule::new(scale);
            let spec = EventSpec {
                event_type: EventType::Freeze,
                not_before_seconds: u64::MAX,
                duration_seconds: u64::MAX,
                description: String::new(),
                event_source: platform(),
            };
            let id = schedule.add(spec.clone(), now).unwrap();
            assert!(schedule.approve(&[id], now).is_ok());
            schedule
                .add(
                    EventSpec {
                        not_before_seconds: 0,
                        ..spec
                    },
                    now,
                )
                .unwrap();
            let later = now.checked_add(Duration::from_secs(5)).unwrap_or(now);
            let document = schedule.document("vm", later);
            assert!(document["Events"].is_array(), "{scale}");
        }
    }

    #[test]
    fn not_before_is_written_in_rfc_1123_form() {
        let t = time::macros::datetime!(2016-09-19 18:29:47 UTC);
        assert_eq!(rfc1123(t), "Mon, 19 Sep 2016 18:29:47 GMT");
    }
}
