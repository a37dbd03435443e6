print("sabha")
