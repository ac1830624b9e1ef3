//! Clipping in the axes' own (possibly logarithmic) coordinates, where power laws are straight.

use super::axis::Axis;

/// A point in data coordinates.
pub(in crate::report) type P = (f64, f64);

fn to_uv(x: &Axis, y: &Axis, p: P) -> P {
    (x.t(p.0), y.t(p.1))
}

/// The axes' rectangle [u0, u1, v0, v1] in their own coordinates.
fn uv_rect(x: &Axis, y: &Axis) -> [f64; 4] {
    let (u0, u1) = (x.t(x.lo), x.t(x.hi));
    let (v0, v1) = (y.t(y.lo), y.t(y.hi));
    [u0.min(u1), u0.max(u1), v0.min(v1), v0.max(v1)]
}

/// Liang–Barsky: the part of segment pq inside the rectangle [u0, u1] x [v0, v1].
fn clip_segment(p: P, q: P, r: [f64; 4]) -> Option<(P, P)> {
    if ![p.0, p.1, q.0, q.1].iter().all(|v| v.is_finite()) {
        return None;
    }
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (pk, qk) in [
        (-dx, p.0 - r[0]),
        (dx, r[1] - p.0),
        (-dy, p.1 - r[2]),
        (dy, r[3] - p.1),
    ] {
        if pk == 0.0 {
            if qk < 0.0 {
                return None;
            }
        } else {
            let t = qk / pk;
            if pk < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
            if t0 > t1 {
                return None;
            }
        }
    }
    Some((
        (p.0 + t0 * dx, p.1 + t0 * dy),
        (p.0 + t1 * dx, p.1 + t1 * dy),
    ))
}

/// The visible pieces of a polyline.
pub(in crate::report) fn clip_polyline(x: &Axis, y: &Axis, pts: &[P]) -> Vec<Vec<P>> {
    let r = uv_rect(x, y);
    let back = |p: P| (x.inv(p.0), y.inv(p.1));
    let mut pieces = Vec::new();
    let mut cur: Vec<P> = Vec::new();
    for w in pts.windows(2) {
        let (p, q) = (to_uv(x, y, w[0]), to_uv(x, y, w[1]));
        match clip_segment(p, q, r) {
            Some((a, b)) => {
                if cur.last() != Some(&a) && !cur.is_empty() {
                    pieces.push(std::mem::take(&mut cur));
                }
                if cur.is_empty() {
                    cur.push(a);
                }
                cur.push(b);
                if b != q {
                    pieces.push(std::mem::take(&mut cur));
                }
            }
            None if !cur.is_empty() => pieces.push(std::mem::take(&mut cur)),
            None => {}
        }
    }
    if !cur.is_empty() {
        pieces.push(cur);
    }
    pieces
        .into_iter()
        .filter(|p| p.len() >= 2)
        .map(|p| p.into_iter().map(back).collect())
        .collect()
}

/// Sutherland–Hodgman: the part of a polygon inside the axes.
pub(in crate::report) fn clip_polygon(x: &Axis, y: &Axis, pts: &[P]) -> Vec<P> {
    let r = uv_rect(x, y);
    let mut poly: Vec<P> = pts.iter().map(|&p| to_uv(x, y, p)).collect();
    if poly.iter().any(|p| !(p.0.is_finite() && p.1.is_finite())) {
        return Vec::new();
    }
    let edges: [(usize, f64, bool); 4] = [
        (0, r[0], true),
        (0, r[1], false),
        (1, r[2], true),
        (1, r[3], false),
    ];
    for (axis, bound, keep_above) in edges {
        poly = clip_to_edge(&poly, axis, bound, keep_above);
    }
    poly.into_iter().map(|p| (x.inv(p.0), y.inv(p.1))).collect()
}

/// One Sutherland–Hodgman pass: the part of `input` on one side of the line coordinate `axis` =
/// `bound` (above it when `keep_above`).
fn clip_to_edge(input: &[P], axis: usize, bound: f64, keep_above: bool) -> Vec<P> {
    let coord = |p: P| if axis == 0 { p.0 } else { p.1 };
    let inside = |p: P| {
        if keep_above {
            coord(p) >= bound
        } else {
            coord(p) <= bound
        }
    };
    let cut = |a: P, b: P| {
        let t = (bound - coord(a)) / (coord(b) - coord(a));
        (a.0 + t * (b.0 - a.0), a.1 + t * (b.1 - a.1))
    };
    let mut poly = Vec::new();
    for i in 0..input.len() {
        let (a, b) = (input[(i + input.len() - 1) % input.len()], input[i]);
        match (inside(a), inside(b)) {
            (true, true) => poly.push(b),
            (true, false) => poly.push(cut(a, b)),
            (false, true) => {
                poly.push(cut(a, b));
                poly.push(b);
            }
            (false, false) => {}
        }
    }
    poly
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axis_ticks_and_clipping() {
        let a = Axis::log(10.0, 1000.0);
        assert_eq!(a.major, vec![10.0, 100.0, 1000.0]);
        let pieces = clip_polyline(&a, &a, &[(1.0, 1.0), (1e4, 1e4)]);
        assert_eq!(pieces.len(), 1);
        assert!((pieces[0][0].0 - 10.0).abs() < 1e-9 && (pieces[0][1].1 - 1000.0).abs() < 1e-6);
        assert!(clip_polyline(&a, &a, &[(1.0, 1e5), (1e4, 1e6)]).is_empty());
        let square = [(1.0, 1.0), (1e4, 1.0), (1e4, 1e4), (1.0, 1e4)];
        assert_eq!(clip_polygon(&a, &a, &square).len(), 4);
    }
}
