//! Horizontal bars drawn with block characters, with an optional threshold
//! mark and whisker, readable with or without colour.

/// Eighths of a cell, so bars resolve finer than one column.
const EIGHTHS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/// A bar of `value` on a track of `width` cells spanning 0..=`max`, with a
/// threshold mark (`│`) and a whisker (`─` ending in `┤`) from `low` to
/// `high` beyond the bar's end.
pub fn track(
    value: f64,
    max: f64,
    width: usize,
    mark: Option<f64>,
    whisker: Option<(f64, f64)>,
) -> String {
    if width == 0 {
        return String::new();
    }
    let scale = |v: f64| {
        if max > 0.0 {
            (v / max).clamp(0.0, 1.0) * width as f64
        } else {
            0.0
        }
    };
    let filled = scale(value);
    let full = filled.floor() as usize;
    let mut cells: Vec<char> = vec![' '; width];
    for cell in cells.iter_mut().take(full.min(width)) {
        *cell = '█';
    }
    if full < width {
        let eighth = ((filled - full as f64) * 8.0).round() as usize;
        if eighth >= 8 {
            cells[full] = '█';
        } else if eighth > 0 {
            cells[full] = EIGHTHS[eighth];
        }
    }
    if let Some((_, high)) = whisker {
        let end = (scale(high).ceil() as usize).min(width);
        let start = filled.ceil() as usize;
        for cell in cells.iter_mut().take(end).skip(start) {
            *cell = '─';
        }
        if end > start {
            cells[end - 1] = '┤';
        }
    }
    if let Some(mark) = mark {
        let at = (scale(mark).round() as usize).min(width - 1);
        cells[at] = if cells[at] == '█' { '┃' } else { '│' };
    }
    cells.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::track;

    #[test]
    fn bars_scale_and_mark() {
        assert_eq!(track(0.5, 1.0, 10, None, None), "█████     ");
        assert_eq!(track(1.0, 1.0, 4, None, None), "████");
        assert_eq!(track(0.0, 0.0, 4, None, None), "    ");
        assert_eq!(track(0.3, 1.0, 10, Some(0.8), None), "███     │ ");
        assert_eq!(track(0.9, 1.0, 10, Some(0.5), None), "█████┃███ ");
        assert_eq!(
            track(0.3, 1.0, 10, None, Some((0.2, 0.6))),
            "███───    ".replacen("───", "──┤", 1)
        );
        assert_eq!(track(0.5, 1.0, 0, Some(0.5), None), "");
    }
}
