//! The style of the pack's pages: readable on screen and printed.

pub(super) const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.45}\
h1{font-size:1.6rem}h2{border-bottom:1px solid #999;margin-top:2rem}h3{margin-bottom:.3rem}\
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}\
th{background:#eee}.fail{color:#a00;font-weight:bold}.pass{color:#060;font-weight:bold}.muted{color:#555}\
code{font-size:.85rem}@media print{a{color:inherit;text-decoration:none}h2{page-break-after:avoid}table{page-break-inside:avoid}}";
