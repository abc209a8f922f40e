//! Thresholds: each finding's numbers, declared once with their findings.md defaults, and
//! settable by name (`--threshold idle-timeout.min_cuts=12`).

use std::fmt::Display;
use std::str::FromStr;

/// A finding's thresholds, readable and settable by name.
pub trait Tunable {
    /// The names of the thresholds, in declaration order.
    fn names(&self) -> &'static [&'static str];
    /// Sets one threshold from text; `Err` says why not.
    fn set(&mut self, name: &str, value: &str) -> Result<(), String>;
    /// One threshold's value as text.
    fn get(&self, name: &str) -> Option<String>;
}

/// The kinds of number a threshold is.
pub trait Number: FromStr + Display + Copy {
    fn as_f64(self) -> f64;
}

impl Number for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

impl Number for u64 {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

impl Number for usize {
    fn as_f64(self) -> f64 {
        self as f64
    }
}

/// Parses a threshold value; numbers must be finite and not negative.
pub fn parse<T: Number>(text: &str) -> Result<T, String> {
    let v: T = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a valid number here"))?;
    let f = v.as_f64();
    if !f.is_finite() || f < 0.0 {
        return Err(format!("{text:?} must be a finite number, 0 or more"));
    }
    Ok(v)
}

/// Declares a finding's thresholds: a struct of public fields whose `Default` is the
/// declared values, with [`Tunable`] by field name.
macro_rules! thresholds {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $default:expr, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl Default for $name {
            fn default() -> Self {
                $name { $( $field: $default, )* }
            }
        }

        impl $crate::findings::params::Tunable for $name {
            fn names(&self) -> &'static [&'static str] {
                &[$(stringify!($field)),*]
            }

            #[allow(unused_variables)]
            fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
                $(
                    if name == stringify!($field) {
                        self.$field = $crate::findings::params::parse(value)?;
                        return Ok(());
                    }
                )*
                Err(format!("no threshold named {name:?}"))
            }

            #[allow(unused_variables)]
            fn get(&self, name: &str) -> Option<String> {
                $(
                    if name == stringify!($field) {
                        return Some(self.$field.to_string());
                    }
                )*
                None
            }
        }
    };
}

pub(crate) use thresholds;
