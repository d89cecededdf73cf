package org.seerjava.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** Every command's --help fits the usage width, and each line of its examples footer is printed whole. */
class HelpTest {

    @Test
    void helpLinesFitTheWidthAndFootersAreNotWrapped() {
        CommandLine root = Seer.commandLine();
        List<CommandLine> commands = new ArrayList<>();
        commands.add(root);
        commands.addAll(root.getSubcommands().values());
        int width = root.getUsageHelpWidth();
        for (CommandLine cl : commands) {
            String name = cl.getCommandName();
            CheckCommandTest.Run r = CheckCommandTest.run(name.equals("seer") ? new String[]{"--help"}
                    : new String[]{name, "--help"});
            assertThat(r.exit()).as(name).isZero();
            List<String> lines = r.out().lines().toList();
            for (String line : lines) {
                assertThat(line.length()).as(name + " --help line longer than " + width + ": " + line)
                        .isLessThanOrEqualTo(width);
            }
            for (String footer : cl.getCommandSpec().usageMessage().footer()) {
                for (String line : footer.split("%n")) {
                    assertThat(lines).as(name + " --help prints the footer line whole: " + line)
                            .contains(line.replace("%%", "%"));
                }
            }
        }
    }
}
