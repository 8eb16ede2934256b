//! Wall-clock values passed into the sans-I/O parts, and their text forms.
//!
//! Nothing here reads a clock except [`Timestamp::now`], which only the reactor calls.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Reads the system clock (reactor only).
    pub fn now() -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    pub fn from_secs(secs: u64) -> Timestamp {
        Timestamp(secs.saturating_mul(1000))
    }

    pub fn secs(self) -> u64 {
        self.0 / 1000
    }

    /// `2011-03-11T09:30:00`, UTC: the `datetime` format of Hookbox's frames.
    pub fn iso(self) -> String {
        let c = Civil::from_secs(self.secs());
        let mut s = String::with_capacity(19);
        let _ = write!(
            s,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            c.year, c.month, c.day, c.hour, c.minute, c.second
        );
        s
    }

    /// `Fri, 11 Mar 2011 09:30:00 GMT`: the HTTP `Date` format (RFC 9110 IMF-fixdate).
    pub fn http_date(self) -> String {
        const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let secs = self.secs();
        let c = Civil::from_secs(secs);
        let weekday = DAYS[((secs / 86_400) % 7) as usize];
        let month = MONTHS[(c.month - 1) as usize];
        let mut s = String::with_capacity(29);
        let _ = write!(
            s,
            "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
            c.day, c.year, c.hour, c.minute, c.second
        );
        s
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    /// Gregorian calendar date from days since 1970-01-01 (Howard Hinnant's algorithm).
    fn from_secs(secs: u64) -> Civil {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem / 60 % 60) as u32,
            second: (rem % 60) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let t = Timestamp::from_secs(784_111_777);
        assert_eq!(t.http_date(), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(t.iso(), "1994-11-06T08:49:37");
        assert_eq!(Timestamp(0).iso(), "1970-01-01T00:00:00");
        assert_eq!(
            Timestamp::from_secs(951_782_400).iso(),
            "2000-02-29T00:00:00"
        );
        assert_eq!(
            Timestamp::from_secs(1_299_835_800).http_date(),
            "Fri, 11 Mar 2011 09:30:00 GMT"
        );
    }
}
