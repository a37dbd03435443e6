#!/usr/bin/env python3
"""Reports Swift files over 600 lines and functions over 80 lines, and JavaScript files over 400 lines
(the limits of issue 14). Usage: tools/dev/lengths.py [DIR ...] (default: Sources). Exits 1 when any is over."""
import re
import sys
from pathlib import Path

FUNC = re.compile(r'^\s*(?:@[\w(). ,:]+\s+)*(?:(?:public|private|fileprivate|internal|static|final|override|mutating|nonmutating|@inline\(__always\)|@discardableResult|class)\s+)*(?:func|init|deinit)\b')


def functions(lines):
    """(name line, length) of each function body, by brace counting from the declaration."""
    i = 0
    while i < len(lines):
        if FUNC.match(lines[i]) and not lines[i].strip().startswith('//'):
            depth, started, j = 0, False, i
            while j < len(lines):
                code = re.sub(r'"(?:\\.|[^"\\])*"', '""', lines[j]).split('//')[0]
                depth += code.count('{') - code.count('}')
                started = started or '{' in code
                if started and depth <= 0:
                    break
                if not started and j > i + 10:  # a protocol requirement: no body
                    break
                j += 1
            if started:
                yield i + 1, lines[i].strip()[:90], j - i + 1
            i = j + 1 if started else i + 1
        else:
            i += 1


def main(dirs):
    bad = 0
    for root in dirs:
        for path in sorted(Path(root).rglob('*')):
            if path.suffix == '.swift':
                lines = path.read_text().splitlines()
                if len(lines) > 600:
                    print(f'{path}: {len(lines)} lines'); bad += 1
                for line, text, length in functions(lines):
                    if length > 80:
                        print(f'{path}:{line}: {length}-line function: {text}'); bad += 1
            elif path.suffix in ('.js', '.mjs'):
                count = len(path.read_text().splitlines())
                if count > 400:
                    print(f'{path}: {count} lines'); bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:] or ['Sources']))
