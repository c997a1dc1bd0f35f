//! A unified diff of two small texts (pg_hba.conf): one hunk around the
//! changed middle, which is what a block insert or replace produces.

pub fn unified(old: &str, new: &str, path: &str, context: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a == b {
        return String::new();
    }
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let start = prefix.saturating_sub(context);
    let a_end = (a.len() - suffix + context).min(a.len());
    let b_end = (b.len() - suffix + context).min(b.len());
    let mut out = format!(
        "--- {path}\n+++ {path} (after)\n@@ -{},{} +{},{} @@\n",
        start + 1,
        a_end - start,
        start + 1,
        b_end - start
    );
    for l in &a[start..prefix] {
        out.push_str(&format!(" {l}\n"));
    }
    for l in &a[prefix..a.len() - suffix] {
        out.push_str(&format!("-{l}\n"));
    }
    for l in &b[prefix..b.len() - suffix] {
        out.push_str(&format!("+{l}\n"));
    }
    for l in &a[a.len() - suffix..a_end] {
        out.push_str(&format!(" {l}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_hunk_around_the_change() {
        let d = super::unified("a\nb\nc\nd\n", "a\nb\nX\nc\nd\n", "f", 1);
        assert_eq!(d, "--- f\n+++ f (after)\n@@ -2,2 +2,3 @@\n b\n+X\n c\n");
        assert_eq!(super::unified("a\n", "a\n", "f", 3), "");
    }
}
