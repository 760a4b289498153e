"""What each tab shows, as plain values (Markdown, HTML, SVG, numpy images): no UI framework."""
