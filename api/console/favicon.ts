/**
 * The console's icon, a disk in the header's colours, as an SVG of a few hundred bytes: served
 * at `/favicon.ico` (where every browser asks for one on every page, whatever the page links)
 * and linked from each page, so a catalog under PUBLIC_URL's path has it too. Public, like
 * the stylesheet: it holds nothing of the catalog.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">
<rect width="16" height="16" rx="3" fill="#14263b"/>
<ellipse cx="8" cy="4.5" rx="5" ry="2" fill="#fff"/>
<path d="M3 4.5v7c0 1.1 2.2 2 5 2s5-.9 5-2v-7c0 1.1-2.2 2-5 2s-5-.9-5-2z" fill="#0b57a4" stroke="#fff" stroke-width=".8"/>
</svg>
`;

/** The headers the icon is answered with: an image a browser keeps for a day. */
export const FAVICON_HEADERS = {
  'Content-Type': 'image/svg+xml',
  'Cache-Control': 'public, max-age=86400',
  'X-Content-Type-Options': 'nosniff',
} as const;
