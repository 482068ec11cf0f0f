// Mirrors chatbot_common/uploads.py FILE_TYPES: the server accepts a file only when its extension
// and content type agree, so the content type is derived from the extension here, not guessed
// by the browser (which often reports "" for .md or .csv).

const TYPES = [
  { ext: [".txt", ".text"], type: "text/plain", purpose: "document" },
  { ext: [".md", ".markdown"], type: "text/markdown", purpose: "document" },
  { ext: [".csv"], type: "text/csv", purpose: "document" },
  { ext: [".pdf"], type: "application/pdf", purpose: "document" },
  {
    ext: [".docx"],
    type: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    purpose: "document",
  },
  { ext: [".html", ".htm"], type: "text/html", purpose: "document" },
  { ext: [".png"], type: "image/png", purpose: "image" },
  { ext: [".jpg", ".jpeg"], type: "image/jpeg", purpose: "image" },
  { ext: [".gif"], type: "image/gif", purpose: "image" },
  { ext: [".webp"], type: "image/webp", purpose: "image" },
];

export const ACCEPT = TYPES.flatMap((t) => t.ext).join(",");
export const DOCUMENT_NAMES = "PDF, Word (.docx), text, Markdown, CSV or HTML";
export const IMAGE_NAMES = "PNG, JPEG, GIF or WebP";

/** {type, purpose} for a File, or null when the server would not accept it. */
export function classify(file) {
  const name = file.name.toLowerCase();
  const match = TYPES.find((t) => t.ext.some((ext) => name.endsWith(ext)));
  return match ? { type: match.type, purpose: match.purpose } : null;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "")} MB`;
}
