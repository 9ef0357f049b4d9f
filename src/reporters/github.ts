/**
 * GitHub Actions workflow commands (`::error title=…::message`, `::group::title`),
 * escaped by the rules of GitHub's own toolkit (`@actions/core` `command.ts`), so a
 * job name with a newline, `%`, `,` or `:` can neither split a command nor end its
 * properties early: data escapes `%`, CR and LF; property values also `:` and `,`.
 */

/** A command's message (the part after the last `::`). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A property value (`title=…`). */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::name key=value,…::message`, every part escaped. */
export function workflowCommand(
  name: string,
  properties: Record<string, string>,
  message: string,
): string {
  const props = Object.entries(properties)
    .map(([key, value]) => `${key}=${escapeProperty(value)}`)
    .join(',');
  return `::${name}${props ? ` ${props}` : ''}::${escapeData(message)}`;
}
