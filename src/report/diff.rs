//! A unified diff of two small texts (pg_hba.conf), by `similar`: a hunk per
//! change with `context` lines around it, so a moved block shows as a
//! removal and an insertion instead of one hunk over everything between.

use similar::TextDiff;

pub fn unified(old: &str, new: &str, path: &str, context: usize) -> String {
    if old.lines().eq(new.lines()) {
        return String::new();
    }
    let after = format!("{path} (after)");
    let diff = TextDiff::from_lines(old, new);
    let mut out = diff
        .unified_diff()
        .context_radius(context)
        .missing_newline_hint(false)
        .header(path, &after)
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn one_hunk_around_a_change() {
        let d = unified("a\nb\nc\nd\n", "a\nb\nX\nc\nd\n", "f", 1);
        assert_eq!(d, "--- f\n+++ f (after)\n@@ -2,2 +2,3 @@\n b\n+X\n c\n");
        assert_eq!(unified("a\n", "a\n", "f", 3), "");
    }

    #[test]
    fn a_moved_block_is_two_small_hunks() {
        let old = "A\n1\n2\n3\n4\n5\n6\n7\n8\nB\n";
        let new = "1\n2\n3\n4\n5\n6\n7\n8\nB\nA\n";
        let d = unified(old, new, "f", 1);
        assert_eq!(
            d,
            "--- f\n+++ f (after)\n@@ -1,2 +1 @@\n-A\n 1\n@@ -10 +9,2 @@\n B\n+A\n"
        );
    }

    #[test]
    fn an_empty_file_starts_at_line_zero() {
        let d = unified("", "x\ny\n", "f", 3);
        assert_eq!(d, "--- f\n+++ f (after)\n@@ -0,0 +1,2 @@\n+x\n+y\n");
    }
}
