#pragma once
// Escaping for each output format: names, labels and paths come from user files and must not
// change the structure of the document they are written into.
#include <string>

namespace repro::reports {

// & < > " ' as entities (text and attribute values of HTML and SVG).
std::string html_escape(const std::string& s);
// XML 1.0 (JUnit): as html_escape, and control characters other than tab/newline dropped.
std::string xml_escape(const std::string& s);
// LaTeX text mode: \ { } $ & % # _ ~ ^ < > | as commands; newlines as spaces; the non-ASCII
// signs the reports write themselves (± — and the banner marks: "‡" -> "\ddag{}", "§" -> "\S{}",
// "¶" -> "\P{}") as commands too.
std::string latex_escape(const std::string& s);
// A GitHub Markdown table cell: | \ ` * _ [ ] < > escaped with a backslash; newlines as spaces.
std::string markdown_escape(const std::string& s);
// An RFC 4180 CSV field: quoted when it holds , " CR or LF (quotes doubled).
std::string csv_field(const std::string& s);
// A CSV field of text from the user or the store (labels, notes, run ids): as csv_field, with a
// leading ' when it starts with = + - @ tab or CR, which spreadsheets would run as a formula
// (OWASP "CSV injection"). A plain decimal number ("-0.1", "+2e-4") is left as it is: a number,
// not a formula, and pandas should read a numeric axis as numbers.
std::string csv_text(const std::string& s);

}  // namespace repro::reports
