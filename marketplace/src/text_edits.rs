//! Replacements over a text by byte range, applied at once, each keeping the newlines of the
//! range it replaces: what `esm.rs` rewrites keeps its line numbers.

/// Replacements over the original text, applied at once; a replaced range keeps its newlines.
pub(crate) struct Edits<'a> {
    pub(crate) original: &'a str,
    changes: Vec<(usize, usize, String)>,
}

impl<'a> Edits<'a> {
    pub(crate) fn new(original: &'a str) -> Edits<'a> {
        Edits {
            original,
            changes: Vec::new(),
        }
    }

    pub(crate) fn text(&self, start: usize, end: usize) -> &'a str {
        self.original.get(start..end).unwrap_or("")
    }

    /// `start..end` becomes `with`, followed by the newlines the range held.
    pub(crate) fn replace(&mut self, start: usize, end: usize, with: &str) {
        let newlines = self.text(start, end).matches('\n').count();
        let mut text = with.to_owned();
        text.push_str(&"\n".repeat(newlines));
        self.changes.push((start, end, text));
    }

    pub(crate) fn blank(&mut self, start: usize, end: usize) {
        self.replace(start, end, "");
    }

    pub(crate) fn apply(mut self) -> String {
        // Stable: an insertion at the end of a range sorts after that range's replacement.
        self.changes.sort_by_key(|(start, end, _)| (*start, *end));
        let mut out = String::with_capacity(self.original.len() + 256);
        let mut at = 0;
        for (start, end, text) in &self.changes {
            if *start < at {
                continue;
            }
            out.push_str(self.text(at, *start));
            out.push_str(text);
            at = *end;
        }
        out.push_str(self.text(at, self.original.len()));
        out
    }
}
