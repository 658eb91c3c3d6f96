#pragma once
// Escaping for each output format: names, labels and paths come from user files and must not
// change the structure of the document they are written into.
#include <string>

namespace repro::reports {

// & < > " ' as entities (text and attribute values of HTML and SVG).
std::string html_escape(const std::string& s);
// XML 1.0 (JUnit): as html_escape, and control characters other than tab/newline dropped.
std::string xml_escape(const std::string& s);
// LaTeX text mode: \ { } $ & % # _ ~ ^ < > | as commands; newlines as spaces.
std::string latex_escape(const std::string& s);
// A GitHub Markdown table cell: | \ ` * _ [ ] < > escaped with a backslash; newlines as spaces.
std::string markdown_escape(const std::string& s);
// An RFC 4180 CSV field: quoted when it holds , " CR or LF (quotes doubled).
std::string csv_field(const std::string& s);

}  // namespace repro::reports
