/* Unit tests of textquality.h: real text scores high, garbage text layers low. */
#include <string.h>

#include "check.h"
#include "docs/textquality.h"

static double q(const char *s)
{
    return text_quality(s, strlen(s));
}

int main(void)
{
    CHECK(q("The concept of the word processor predates modern computers and has evolved "
            "through several technological milestones.") > 0.9,
          "English prose scores above 0.9 (%.2f)",
          q("The concept of the word processor predates modern computers and has evolved through "
            "several technological milestones."));
    CHECK(q("Der schnelle braune Fuchs springt über den faulen Hund, während die Katze schläft.") >
              0.9,
          "German prose scores above 0.9");
    CHECK(q("Le renard brun rapide saute par-dessus le chien paresseux à l'école.") > 0.9,
          "French prose scores above 0.9");
    CHECK(q("Revenue 2023: 1,234,567 USD; growth 12.5% (Q3), see Table 4.") > 0.8,
          "numbers and punctuation are fine");
    CHECK(q("日本語のテキストはここにあります。これは正しい文章です。ですから問題ありません。") <
                  0 ||
              q("日本語のテキストはここにあります。これは正しい文章です。") > 0.9,
          "other scripts are not judged garbage");
    CHECK(q("(QKDQFH WKH SHUIRUPDQFH RI \\RXU GDWDEDVH RSHUDWLRQV WKURXJK PRGHUQL]DWLRQ") < 0.5,
          "a font without a Unicode map (shifted letters) scores below 0.5 (%.2f)",
          q("(QKDQFH WKH SHUIRUPDQFH RI \\RXU GDWDEDVH RSHUDWLRQV WKURXJK PRGHUQL]DWLRQ"));
    CHECK(
        q("Tbe qnick brovvn fox jnmps ovcr tbe lazy dog aud tbe cat. Tlie end of tbe story witb a "
          "moral tbat is clear.") < 0.5,
        "an old OCR layer with 'tbe' and 'aud' scores below 0.5");
    CHECK(q("l0rem 1psum d0lor s1t am3t c0nsect3tur ad1p1sc1ng 3l1t s3d d0 e1usm0d") < 0.5,
          "letters and digits mixed in words score below 0.5");
    CHECK(q("xQzT pRkLm vBnMx QwRtY zXcVb nMlKj hGfDs aSdFg") < 0.5,
          "random letters score below 0.5");
    CHECK(q("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ab \xEF\xBF\xBD\xEF\xBF\xBD cd ef gh ij "
            "\xEE\x80\x80\xEE\x80\x81") < 0.5,
          "replacement and private-use characters score below 0.5");
    CHECK(q("too short") < 0, "too little text is not judged");
    return check_failures ? 1 : 0;
}
