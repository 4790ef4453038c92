//! The one way a cache key is hashed: BLAKE3 over length-prefixed fields,
//! starting with the cache's own name and format version, so two caches,
//! two formats or two splits of the same bytes never share a key. Each
//! cache names its inputs in a typed struct or function of its own
//! (`cache::key`, `browser::key`, `chapters::ChapterKey`, `books::BookKey`)
//! and feeds them through this.

/// A key being built.
#[derive(Clone)]
pub(crate) struct KeyHasher(blake3::Hasher);

impl KeyHasher {
    /// A key of the cache `domain` (its name and format version).
    pub fn new(domain: &str) -> Self {
        let mut h = KeyHasher(blake3::Hasher::new());
        h.field(domain.as_bytes());
        h
    }

    /// One input, length-prefixed.
    pub fn field(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// An optional input: absent is its own value, never equal to any text.
    pub fn optional(&mut self, bytes: Option<&[u8]>) -> &mut Self {
        match bytes {
            Some(b) => self.field(b),
            None => self.field(b"\xffnone"),
        }
    }

    /// The key, in hex.
    pub fn finish(&self) -> String {
        self.0.finalize().to_hex().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_delimited_and_domains_apart() {
        let key = |d: &str, parts: &[&[u8]]| {
            let mut h = KeyHasher::new(d);
            for p in parts {
                h.field(p);
            }
            h.finish()
        };
        assert_eq!(key("a", &[b"x"]), key("a", &[b"x"]));
        assert_ne!(key("a", &[b"ab", b"c"]), key("a", &[b"a", b"bc"]));
        assert_ne!(key("a", &[b"x"]), key("b", &[b"x"]));
        let mut none = KeyHasher::new("a");
        none.optional(None);
        let mut empty = KeyHasher::new("a");
        empty.optional(Some(b""));
        assert_ne!(none.finish(), empty.finish());
    }
}
