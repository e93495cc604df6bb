"""End-to-end (issue 12): /metrics stays valid Prometheus text, and valid UTF-8, whatever the
names of the tailed files hold: invalid UTF-8 bytes are replaced by U+FFFD, and backslash,
double quote and newline are escaped. The page is parsed strictly here, as a scraper would."""

import http.client
import os
import re
import signal

from sluice_e2e import SluiceTestCase, base_env, main, metrics_port, wait_until, yaml_str

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
VALUE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|Inf|NaN)")
ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}


def parse_exposition(data):
    """Parses the Prometheus text format 0.0.4 strictly; returns [(name, {label: value}, value)].
    Raises ValueError on anything a strict scraper would reject."""
    text = data.decode("utf-8")  # strict: invalid UTF-8 raises
    if not text.endswith("\n"):
        raise ValueError("the page does not end with a newline")
    samples = []
    typed = {}
    for n, line in enumerate(text[:-1].split("\n"), 1):
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            parts = line.split(" ", 3)
            if len(parts) < 3 or not METRIC_NAME.fullmatch(parts[2]):
                raise ValueError(f"line {n}: bad metadata line {line!r}")
            if parts[1] == "TYPE":
                if parts[2] in typed or len(parts) != 4 or parts[3] not in (
                        "counter", "gauge", "untyped", "summary", "histogram"):
                    raise ValueError(f"line {n}: bad TYPE line {line!r}")
                typed[parts[2]] = parts[3]
            elif len(parts) == 4 and not re.fullmatch(r"(?:[^\\]|\\[\\n])*", parts[3]):
                raise ValueError(f"line {n}: bad escape in HELP {line!r}")
            continue
        if line.startswith("#") or line == "":
            raise ValueError(f"line {n}: unexpected line {line!r}")
        m = METRIC_NAME.match(line)
        if not m:
            raise ValueError(f"line {n}: no metric name in {line!r}")
        name, i, labels = m.group(0), m.end(), {}
        if i < len(line) and line[i] == "{":
            i += 1
            while line[i] != "}":
                lm = LABEL_NAME.match(line, i)
                if not lm or line[lm.end():lm.end() + 2] != '="':
                    raise ValueError(f"line {n}: bad label at {i} in {line!r}")
                label, i, value = lm.group(0), lm.end() + 2, []
                while line[i] != '"':
                    if line[i] == "\\":
                        if line[i + 1] not in ESCAPES:
                            raise ValueError(f"line {n}: bad escape \\{line[i + 1]} in {line!r}")
                        value.append(ESCAPES[line[i + 1]])
                        i += 2
                    else:
                        value.append(line[i])
                        i += 1
                i += 1
                if label in labels:
                    raise ValueError(f"line {n}: label {label} twice")
                labels[label] = "".join(value)
                if line[i] == ",":
                    i += 1
            i += 1
        rest = line[i:].split(" ")
        if len(rest) not in (2, 3) or rest[0] != "" or not VALUE.fullmatch(rest[1]):
            raise ValueError(f"line {n}: bad value in {line!r}")
        samples.append((name, labels, float(rest[1])))
    return samples


def scrape(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class MetricsLabelsTest(SluiceTestCase):
    def test_file_names_with_invalid_utf8_quotes_backslashes_and_newlines(self):
        logs = self.path("logs")
        os.makedirs(logs)
        names = [b'bad\xff\xfe name "quoted" back\\slash\nnew line.log',
                 b"latin1-caf\xe9\xc3.log",  # an invalid byte, then a lone lead byte
                 "utf8-日本-délta.log".encode()]
        for i, name in enumerate(names):
            with open(os.path.join(os.fsencode(logs), name), "wb") as f:
                f.write(f"line {i}\n".encode())
        cfg = self.config(f"""
            data_dir: {yaml_str(self.path('data'))}
            sources:
              files: {{type: file, include: [{yaml_str(os.path.join(logs, '*.log'))}],
                       read_from: beginning, parser: none}}
            sinks:
              out: {{type: file, inputs: [files], path: {yaml_str(self.path('out.jsonl'))}}}
            """)
        p = self.start(["run", "-c", cfg],
                       env=base_env({"SLUICE_METRICS_ADDR": "127.0.0.1:0", "SLUICE_LOG": "info"}))
        port = metrics_port(p)
        expected = {os.path.join(logs, name.decode("utf-8", "replace")) for name in names}

        def file_paths():
            status, body = scrape(port)
            self.assertEqual(status, 200)
            try:
                samples = parse_exposition(body)
            except (ValueError, IndexError, UnicodeDecodeError) as e:
                self.fail(f"/metrics is not valid exposition format: {e}")
            got = {labels.get("path") for name, labels, _ in samples
                   if name == "sluice_file_size_bytes"}
            return got if expected <= got else None

        got = wait_until(file_paths, timeout=15, what="a series for each file")
        self.assertTrue(expected <= got, got)
        # The replacement character stands where each invalid byte was.
        self.assertIn(os.path.join(logs, 'bad\ufffd\ufffd name "quoted" back\\slash\nnew line.log'),
                      got)
        self.assertIn(os.path.join(logs, "latin1-caf\ufffd\ufffd.log"), got)
        p.signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=20).rc, 0)


if __name__ == "__main__":
    main()
