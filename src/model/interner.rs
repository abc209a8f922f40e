//! Interned strings for values that repeat across connections (user agents, paths, kinds).
//!
//! A connection stores a 4-byte [`Sym`] instead of its own copy. The table is capped: these
//! strings come from the internet, and a flood of distinct values must not grow memory without
//! bound, so past the cap new values share one "(too many distinct values)" symbol.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

pub const OVERFLOW_TEXT: &str = "(too many distinct values)";

#[derive(Debug, Clone)]
pub struct Interner {
    index: HashMap<Arc<str>, Sym>,
    values: Vec<Arc<str>>,
    cap: usize,
}

impl Interner {
    pub fn with_cap(cap: usize) -> Interner {
        let overflow: Arc<str> = Arc::from(OVERFLOW_TEXT);
        let mut index = HashMap::new();
        index.insert(overflow.clone(), Sym(0));
        Interner {
            index,
            values: vec![overflow],
            cap: cap.max(1),
        }
    }

    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        if self.values.len() >= self.cap {
            return Sym(0);
        }
        let sym = Sym(self.values.len() as u32);
        let value: Arc<str> = Arc::from(s);
        self.values.push(value.clone());
        self.index.insert(value, sym);
        sym
    }

    pub fn get(&self, sym: Sym) -> &str {
        self.values.get(sym.0 as usize).map_or("", |v| v)
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.len() <= 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_distinct_values() {
        let mut i = Interner::with_cap(3);
        let a = i.intern("a");
        assert_eq!(i.intern("a"), a);
        let b = i.intern("b");
        assert_ne!(a, b);
        let c = i.intern("c");
        assert_eq!(i.get(c), OVERFLOW_TEXT);
        assert_eq!(i.get(b), "b");
    }
}
