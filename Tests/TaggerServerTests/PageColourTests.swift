import Foundation
import Tagger
import Testing
@testable import TaggerServer

/// The page colours entity types as `predict --format html` does, and no label can break out of its script.
@Suite("the page's entity colours")
struct PageColourTests {
    @Test func typesTakeTheColoursOfTheHTMLRenderer() {
        let page = TaggerPage.html(types: ["LOC", "PER", "SKILL"])
        for type in ["LOC", "PER", "SKILL"] {
            #expect(page.contains("\"\(type)\":\"\(EntityHTML.colour(of: type))\""), "\(type)")
        }
        #expect(!page.contains("/*ENTITY_COLOURS*/"))
    }

    @Test func aLabelWithMarkupCannotCloseTheScript() {
        let page = TaggerPage.html(types: ["</script><img src=x onerror=alert(1)>"])
        #expect(page.components(separatedBy: "</script>").count == 2, "only the page's own </script> may appear")
        #expect(page.contains("\\u003c"), "the label's < is written as an escape")
    }
}
