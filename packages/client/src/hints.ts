/**
 * Operator hints shared by the client's decoders and requests. Internal: not exported from the
 * package index.
 */

const HTML_HINT =
  'this looks like an HTML page, not a Kubernetes answer: a proxy or gateway answered instead ' +
  'of the API server? Check the cluster server address in the kubeconfig and any proxy in between';

const MALFORMED_LINE_HINT =
  'the API server, or something between it and the client, sent a line that is not a watch ' +
  'event; the informer re-watches from the last good resourceVersion';

/** Does this text start like an HTML (or XML) document? */
export function looksLikeHtml(text: string): boolean {
  return /^\s*</.test(text);
}

/** The hint of a watch line that failed to decode: HTML pages get their own. */
export function malformedLineHint(preview: string): string {
  return looksLikeHtml(preview) ? HTML_HINT : MALFORMED_LINE_HINT;
}

/** The hint of an answer that is an HTML page. */
export const htmlHint = HTML_HINT;

/** A one-line preview of a text: tags and runs of whitespace dropped, at most `max` characters. */
export function textPreview(text: string, max = 160): string {
  const plain = looksLikeHtml(text)
    ? text
        .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
        .replace(/<[^>]*>/g, ' ')
        .replace(/&nbsp;/g, ' ')
    : text;
  const flat = plain.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
