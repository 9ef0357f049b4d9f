import { readFileSync } from 'node:fs';
import { parse, type TestCase, type TestSuites } from 'junit2json';
import { validateXML } from 'xmllint-wasm';

/**
 * The JUnit report as CI servers see it, with tools from npm only (no system xmllint):
 * libxml2 (compiled to WebAssembly) validates it against the Jenkins xUnit plugin's
 * published schema, and junit2json (what several report actions use) parses it.
 */
const SCHEMA = readFileSync(new URL('./junit-10.xsd', import.meta.url), 'utf8');

/** Every schema violation (and well-formedness error) libxml2 finds, as its messages. */
export async function schemaErrors(xml: string): Promise<string[]> {
  const r = await validateXML({
    xml: [{ fileName: 'report.xml', contents: xml }],
    schema: [{ fileName: 'junit-10.xsd', contents: SCHEMA }],
  });
  return r.valid ? [] : r.errors.map((e) => e.rawMessage);
}

/** The document parsed by a real consumer; throws when it cannot parse it. */
export async function parseJunit(xml: string): Promise<TestSuites> {
  const doc = (await parse(xml)) as TestSuites | undefined;
  if (!doc?.testsuite) throw new Error('junit2json found no <testsuites>/<testsuite>');
  return doc;
}

/** All testcases of a parsed document, by name. */
export function testcases(doc: TestSuites): Map<string, TestCase> {
  const cases = new Map<string, TestCase>();
  for (const suite of doc.testsuite ?? [])
    for (const c of suite.testcase ?? []) cases.set(c.name ?? '', c);
  return cases;
}
