#include "mamsign/smki/csv.h"

#include "mamsign/signature/digest.h"

#include "support/test_support.h"

#include <gtest/gtest.h>

#include <random>

namespace mamsign {
namespace {

using Rows = std::vector<std::pair<std::size_t, std::vector<std::string>>>;

Result<Rows> read_all(CsvReader r) {
  Rows out;
  CsvRecord rec;
  for (;;) {
    auto more = r.next(rec);
    if (!more) return std::move(more).error();
    if (!*more) return out;
    out.emplace_back(rec.line, rec.fields);
  }
}

Rows parse(const std::string& text, CsvLimits limits = {}) {
  auto rows = read_all(CsvReader::from_string(text, limits));
  EXPECT_TRUE(rows) << rows.error().message;
  return rows ? *rows : Rows{};
}

Error parse_error(const std::string& text, CsvLimits limits = {}) {
  auto rows = read_all(CsvReader::from_string(text, limits));
  EXPECT_FALSE(rows) << "should not parse: " << text.substr(0, 60);
  return rows ? make_error(Reason::IoError, "") : rows.error();
}

TEST(Csv, CrlfAndLf) {
  const Rows want{{1, {"a", "b"}}, {2, {"c", "d"}}};
  EXPECT_EQ(parse("a,b\r\nc,d\r\n"), want);
  EXPECT_EQ(parse("a,b\nc,d\n"), want);
  EXPECT_EQ(parse("a,b\nc,d"), want) << "the last line needs no line ending";
  EXPECT_EQ(parse("a,b\rc,d\r"), want) << "a lone CR ends a line too";
}

TEST(Csv, ByteOrderMarkIsSkipped) {
  EXPECT_EQ(parse("\xEF\xBB\xBFMPxN,ID\r\n1,2\r\n"), (Rows{{1, {"MPxN", "ID"}}, {2, {"1", "2"}}}));
}

TEST(Csv, QuotedFields) {
  EXPECT_EQ(parse("\"a,b\",\"say \"\"hi\"\"\",\"\"\r\n"), (Rows{{1, {"a,b", "say \"hi\"", ""}}}));
}

TEST(Csv, QuotedLineBreaksKeepLineNumbers) {
  const Rows rows = parse("h1,h2\r\n\"two\r\nlines\",x\r\nnext,y\r\n\"three\nlines\nhere\",z\nlast,w\n");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[1], (std::pair<std::size_t, std::vector<std::string>>{2, {"two\r\nlines", "x"}}));
  EXPECT_EQ(rows[2].first, 4u);
  EXPECT_EQ(rows[3].first, 5u);
  EXPECT_EQ(rows[3].second[0], "three\nlines\nhere");
  EXPECT_EQ(rows[4].first, 8u);
}

TEST(Csv, EmptyLinesAreSkippedAndEmptyFieldsKept) {
  EXPECT_EQ(parse("a,b\r\n\r\n\r\n,\r\nc,\r\n"), (Rows{{1, {"a", "b"}}, {4, {"", ""}}, {5, {"c", ""}}}));
}

TEST(Csv, RaggedRowsAreReturnedAsTheyAre) {
  EXPECT_EQ(parse("a,b,c\r\n1\r\n1,2,3,4\r\n"), (Rows{{1, {"a", "b", "c"}}, {2, {"1"}}, {3, {"1", "2", "3", "4"}}}));
}

TEST(Csv, EmptyInput) {
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("\xEF\xBB\xBF").empty());
  EXPECT_TRUE(parse("\r\n\r\n").empty());
}

TEST(Csv, MalformedSaysWhere) {
  Error unterminated = parse_error("a,b\r\nc,\"never closed\r\nmore\r\n");
  EXPECT_EQ(unterminated.reason, Reason::CsvMalformed);
  EXPECT_NE(unterminated.message.find("line 2"), std::string::npos) << unterminated.message;
  EXPECT_NE(unterminated.message.find("not closed"), std::string::npos);
  Error after = parse_error("a,b\r\n\"x\"y,z\r\n");
  EXPECT_NE(after.message.find("line 2: text after the closing quote"), std::string::npos) << after.message;
  Error inside = parse_error("a,b\r\n\r\nx\"y,z\r\n");
  EXPECT_NE(inside.message.find("line 3: a quote inside an unquoted field"), std::string::npos) << inside.message;
}

TEST(Csv, HugeFieldIsRejected) {
  Error e = parse_error("a,b\r\n" + std::string(70 * 1024, 'x') + ",1\r\n");
  EXPECT_NE(e.message.find("line 2: a field is longer than 65536 bytes"), std::string::npos) << e.message;
  Error q = parse_error("a,b\r\n\"" + std::string(70 * 1024, 'x') + "\",1\r\n");
  EXPECT_NE(q.message.find("longer than 65536"), std::string::npos);
  CsvLimits small;
  small.max_fields = 4;
  Error many = parse_error("1,2,3,4,5\r\n", small);
  EXPECT_NE(many.message.find("more than 4 fields"), std::string::npos);
  small = {};
  small.max_record_bytes = 100;
  Error record = parse_error(std::string(60, 'a') + "," + std::string(60, 'b') + "\r\n", small);
  EXPECT_NE(record.message.find("record is longer"), std::string::npos);
}

TEST(Csv, FromFileAcrossBufferBoundaries) {
  test::TempDir dir;
  std::string text = "h1,h2\r\n";
  std::size_t rows = 0;
  while (text.size() < kReadBufferBytes * 3) {
    text += "\"quoted, with comma " + std::to_string(rows) + "\",\"multi\r\nline\"\r\n";
    ++rows;
  }
  test::write_file(dir / "big.csv", text);
  auto reader = CsvReader::open(dir / "big.csv");
  ASSERT_TRUE(reader);
  auto all = read_all(std::move(*reader));
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), rows + 1);
  EXPECT_EQ(all->back().second[0], "quoted, with comma " + std::to_string(rows - 1));
  EXPECT_EQ(all->back().second[1], "multi\r\nline");
  EXPECT_EQ(all->back().first, 2 + 2 * (rows - 1));
}

TEST(Csv, MissingFileIsIoError) {
  auto r = CsvReader::open("/nonexistent.csv");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().reason, Reason::IoError);
}

TEST(Csv, RandomBytesNeverCrash) {
  std::mt19937 rng(11);
  for (int i = 0; i < 500; ++i) {
    std::string text(rng() % 200, '\0');
    for (auto& c : text) c = "ab,\"\r\n\xEF"[rng() % 8];
    (void)read_all(CsvReader::from_string(text));
  }
  SUCCEED();
}

// Issue 8, H5: every byte counts against the field limit, whatever it is (CR, CRLF, LF, a doubled quote).
TEST(Csv, FieldLimitHoldsForEveryByteAtAndPastIt) {
  CsvLimits small;
  small.max_field_bytes = 8;
  for (const std::string fill : {"x", "\r", "\r\n", "\n", "\"\""}) {
    const std::size_t per = fill == "\r\n" || fill == "\"\"" ? (fill == "\r\n" ? 2 : 1) : 1;
    std::string at, past;
    while (at.size() / fill.size() * per < 8) at += fill;
    past = at + fill;
    auto ok = parse("a\r\n\"" + at + "\"\r\n", small);
    ASSERT_EQ(ok.size(), 2u) << printable(fill);
    EXPECT_EQ(ok[1].second[0].size(), 8u) << printable(fill);
    Error e = parse_error("a\r\n\"" + past + "\"\r\n", small);
    EXPECT_NE(e.message.find("line 2: a field is longer than 8 bytes"), std::string::npos)
        << printable(fill) << " " << e.message;
  }
}

// Unquoted fields are taken a buffer's run at a time (issue 12): the limit holds at and past it, and a
// field split across two reads of the file comes out whole.
TEST(Csv, UnquotedFieldsAtAndPastTheLimitAndAcrossReads) {
  CsvLimits small;
  small.max_field_bytes = 8;
  auto ok = parse("a,b\r\nxxxxxxxx,1\r\n", small);
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[1].second[0], "xxxxxxxx");
  Error e = parse_error("a,b\r\nxxxxxxxxx,1\r\n", small);
  EXPECT_NE(e.message.find("line 2: a field is longer than 8 bytes"), std::string::npos) << e.message;
  Error last = parse_error("a\r\nyyyyyyyyy", small);  // the last field, no line end
  EXPECT_NE(last.message.find("line 2: a field is longer than 8 bytes"), std::string::npos) << last.message;

  test::TempDir dir;
  std::mt19937 rng(12);
  std::string text = "h1,h2\n";
  std::vector<std::pair<std::string, std::string>> rows;
  while (text.size() < kReadBufferBytes * 3) {
    std::string one(1 + rng() % 3000, static_cast<char>('a' + rng() % 26));
    std::string two(rng() % 40, '7');
    text += one + "," + two + (rng() % 2 == 0 ? "\r\n" : "\n");
    rows.emplace_back(std::move(one), std::move(two));
  }
  test::write_file(dir / "long.csv", text);
  auto reader = CsvReader::open(dir / "long.csv");
  ASSERT_TRUE(reader);
  auto all = read_all(std::move(*reader));
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), rows.size() + 1);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ((*all)[i + 1].second.size(), 2u) << "row " << i;
    EXPECT_EQ((*all)[i + 1].second[0], rows[i].first) << "row " << i;
    EXPECT_EQ((*all)[i + 1].second[1], rows[i].second) << "row " << i;
    EXPECT_EQ((*all)[i + 1].first, i + 2);
  }
}

TEST(Csv, MegabytesOfCarriageReturnsInOneQuotedFieldStopAtTheLimit) {
  Error e = parse_error("a\r\n\"" + std::string(3 * 1024 * 1024, '\r') + "\"\r\n");
  EXPECT_NE(e.message.find("longer than 65536"), std::string::npos) << e.message;
}

// Issue 9, item 11: a CSV saved as UTF-16 or UTF-32 is named as such, not shown as "\xFF\xFEM\x00...".
TEST(Csv, WideEncodingsAreNamed) {
  const std::string ascii = "MPxN,ID\r\n1,2\r\n";
  auto widen = [&](std::size_t width, bool little) {
    std::string out;
    for (char c : ascii) {
      std::string unit(width, '\0');
      unit[little ? 0 : width - 1] = c;
      out += unit;
    }
    return out;
  };
  struct Case {
    std::string text, says;
  };
  for (const auto& c : {Case{"\xFF\xFE" + widen(2, true), "UTF-16 (little-endian)"},
                        Case{"\xFE\xFF" + widen(2, false), "UTF-16 (big-endian)"},
                        Case{std::string("\xFF\xFE\0\0", 4) + widen(4, true), "UTF-32 (little-endian)"},
                        Case{widen(2, true), "UTF-16 (little-endian, without a byte-order mark)"},
                        Case{widen(4, false), "UTF-32 (big-endian, without a byte-order mark)"}}) {
    Error e = parse_error(c.text);
    EXPECT_EQ(e.reason, Reason::CsvMalformed);
    EXPECT_NE(e.message.find("the file is " + c.says + " text"), std::string::npos) << e.message;
  }
  EXPECT_EQ(parse("\xEF\xBB\xBF" + ascii).size(), 2u) << "UTF-8 with a BOM is fine";
}

}  // namespace
}  // namespace mamsign
