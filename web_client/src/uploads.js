// Upload flow: ask the upload API for a presigned POST, send the file straight to S3 with
// XMLHttpRequest (fetch has no upload progress), then poll until the server has checked it.
import { ApiError } from "./api.js";
import { classify } from "./filetypes.js";
import { t } from "./i18n.js";

/**
 * Uploads one file and resolves with the ready upload record.
 * @param {import("./api.js").Api} api
 * @param {File} file
 * @param {{onProgress?: (fraction: number) => void, onStage?: (stage: string) => void, signal?: AbortSignal}} hooks
 */
export async function uploadFile(api, file, { onProgress, onStage, signal } = {}) {
  const kind = classify(file);
  if (!kind) throw new ApiError(415, "unsupported_media_type", "");
  onStage?.("preparing");
  let presign;
  try {
    presign = await api.json("POST", "/uploads", {
      filename: file.name,
      contentType: kind.type,
      size: file.size,
      purpose: kind.purpose,
    });
  } catch (err) {
    if (err instanceof ApiError) err.detail.size = file.size;
    throw err;
  }
  if (presign.maxBytes && file.size > presign.maxBytes) {
    throw new ApiError(413, "payload_too_large", "", { maxBytes: presign.maxBytes, size: file.size });
  }
  onStage?.("uploading");
  await postForm(presign.url, presign.fields || {}, file, kind.type, onProgress, signal);
  onStage?.("checking");
  return waitUntilReady(api, presign.uploadId, signal);
}

function postForm(url, fields, file, contentType, onProgress, signal) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    // S3 ignores every field after the file, so the file goes last.
    form.append("file", new File([file], file.name, { type: contentType }));
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress?.(1);
        resolve();
      } else if (xhr.status === 400 && /EntityTooLarge/.test(xhr.responseText)) {
        reject(new ApiError(413, "payload_too_large", ""));
      } else if (xhr.status === 403) {
        reject(new ApiError(403, "forbidden", t("error.uploadRefused")));
      } else {
        reject(new ApiError(xhr.status || 0, "upload_failed", t("error.uploadFailed")));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, "network", ""));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    signal?.addEventListener("abort", () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

async function waitUntilReady(api, uploadId, signal) {
  const started = Date.now();
  let delay = 250;
  for (;;) {
    if (signal?.aborted) throw new DOMException("Upload cancelled", "AbortError");
    const record = await api.json("GET", `/uploads/${encodeURIComponent(uploadId)}`);
    if (record.status === "ready") return record;
    if (record.status === "rejected") {
      const reason = record.reason || "";
      const status = /large|size/i.test(reason) ? 413 : 415;
      throw new ApiError(status, status === 413 ? "payload_too_large" : "unsupported_media_type", reason);
    }
    if (Date.now() - started > 60_000) {
      throw new ApiError(504, "timeout", t("error.uploadTimeout"));
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 1.6, 2000);
  }
}
